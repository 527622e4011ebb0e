"""subtitles: a movie's WebVTT tracks, and the room's default subtitle language (ADR 0018)

Revision ID: c3e9a1f5d7b2
Revises: b5d2c8e41f07
Create Date: 2026-12-02 14:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import watchparty.core.db

revision: str = 'c3e9a1f5d7b2'
down_revision: str | None = 'b5d2c8e41f07'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('subtitle',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('movie_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=60), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=True),
    sa.Column('vtt', sa.Text(), nullable=False),
    sa.Column('source_format', sa.String(length=16), nullable=False),
    sa.Column('source_encoding', sa.String(length=16), nullable=False),
    sa.Column('cues', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', watchparty.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['user.id'], name=op.f('fk_subtitle_created_by_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['movie_id'], ['movie.id'], name=op.f('fk_subtitle_movie_id_movie'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subtitle'))
    )
    with op.batch_alter_table('subtitle', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subtitle_created_by'), ['created_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_subtitle_movie_id'), ['movie_id'], unique=False)

    with op.batch_alter_table('room', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subtitle_language', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('room', schema=None) as batch_op:
        batch_op.drop_column('subtitle_language')
    with op.batch_alter_table('subtitle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subtitle_movie_id'))
        batch_op.drop_index(batch_op.f('ix_subtitle_created_by'))
    op.drop_table('subtitle')
