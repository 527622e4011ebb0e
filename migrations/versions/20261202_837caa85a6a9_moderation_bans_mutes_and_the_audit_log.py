"""moderation: bans, mutes and the audit log of moderator actions (ADR 0016)

Revision ID: 837caa85a6a9
Revises: 7c1e0d5a9b21
Create Date: 2026-12-02 09:25:17.397360
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import watchparty.core.db

revision: str = '837caa85a6a9'
down_revision: str | None = '7c1e0d5a9b21'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('moderation_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('created_at', watchparty.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reverted_at', watchparty.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reverted_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['user.id'], name=op.f('fk_moderation_entry_actor_id_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reverted_by'], ['user.id'], name=op.f('fk_moderation_entry_reverted_by_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['room_id'], ['room.id'], name=op.f('fk_moderation_entry_room_id_room'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_id'], ['user.id'], name=op.f('fk_moderation_entry_target_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderation_entry'))
    )
    with op.batch_alter_table('moderation_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_moderation_entry_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index('ix_moderation_entry_room_id_id', ['room_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_moderation_entry_target_id'), ['target_id'], unique=False)

    op.create_table('room_sanction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('expires_at', watchparty.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', watchparty.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lifted_at', watchparty.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['user.id'], name=op.f('fk_room_sanction_created_by_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['room_id'], ['room.id'], name=op.f('fk_room_sanction_room_id_room'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_room_sanction_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_room_sanction'))
    )
    with op.batch_alter_table('room_sanction', schema=None) as batch_op:
        batch_op.create_index('ix_room_sanction_room_user', ['room_id', 'user_id', 'kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_room_sanction_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('room_sanction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_room_sanction_user_id'))
        batch_op.drop_index('ix_room_sanction_room_user')

    op.drop_table('room_sanction')
    with op.batch_alter_table('moderation_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_moderation_entry_target_id'))
        batch_op.drop_index('ix_moderation_entry_room_id_id')
        batch_op.drop_index(batch_op.f('ix_moderation_entry_actor_id'))

    op.drop_table('moderation_entry')
