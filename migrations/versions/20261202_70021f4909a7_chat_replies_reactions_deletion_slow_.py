"""chat: replies, reactions, deletion; slow mode and a word filter (ADR 0016)

Revision ID: 70021f4909a7
Revises: e28347dca809
Create Date: 2026-12-02 10:21:19.859343
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import watchparty.core.db

revision: str = '70021f4909a7'
down_revision: str | None = 'e28347dca809'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('message_reaction',
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('emoji', sa.String(length=8), nullable=False),
    sa.Column('created_at', watchparty.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['message.id'], name=op.f('fk_message_reaction_message_id_message'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_message_reaction_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message_id', 'user_id', 'emoji', name=op.f('pk_message_reaction'))
    )
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reply_to_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('deleted_at', watchparty.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('deleted_by', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_message_reply_to_id_message'), 'message', ['reply_to_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_message_deleted_by_user'), 'user', ['deleted_by'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('room', schema=None) as batch_op:
        batch_op.add_column(sa.Column('slow_mode_seconds', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('word_filter', sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column('filter_mode', sa.String(length=5), server_default=sa.text("'mask'"), nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('room', schema=None) as batch_op:
        batch_op.drop_column('filter_mode')
        batch_op.drop_column('word_filter')
        batch_op.drop_column('slow_mode_seconds')

    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_message_deleted_by_user'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_message_reply_to_id_message'), type_='foreignkey')
        batch_op.drop_column('deleted_by')
        batch_op.drop_column('deleted_at')
        batch_op.drop_column('reply_to_id')

    op.drop_table('message_reaction')
