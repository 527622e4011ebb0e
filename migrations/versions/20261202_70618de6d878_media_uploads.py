"""media uploads: chunked video uploads and their HLS

Revision ID: 70618de6d878
Revises: c3e9a1f5d7b2
Create Date: 2026-12-02 18:43:44.222591
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import watchparty.core.db

revision: str = '70618de6d878'
down_revision: str | None = 'c3e9a1f5d7b2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('media_upload',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('received', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('error_code', sa.String(length=32), nullable=True),
    sa.Column('error_message', sa.String(length=300), nullable=True),
    sa.Column('source', sa.JSON(), nullable=True),
    sa.Column('output', sa.JSON(), nullable=True),
    sa.Column('job_id', sa.String(length=64), nullable=True),
    sa.Column('movie_id', sa.Integer(), nullable=True),
    sa.Column('created_at', watchparty.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', watchparty.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['movie_id'], ['movie.id'], name=op.f('fk_media_upload_movie_id_movie'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], name=op.f('fk_media_upload_owner_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_media_upload')),
    sa.UniqueConstraint('token', name=op.f('uq_media_upload_token'))
    )
    with op.batch_alter_table('media_upload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_media_upload_movie_id'), ['movie_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_media_upload_owner_id'), ['owner_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('media_upload', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_media_upload_owner_id'))
        batch_op.drop_index(batch_op.f('ix_media_upload_movie_id'))

    op.drop_table('media_upload')
