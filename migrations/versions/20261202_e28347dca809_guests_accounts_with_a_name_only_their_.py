"""guests: accounts with a name only, their bans by device and address (ADR 0016)

Public and unlisted rooms let guests in; private rooms do not.

Revision ID: e28347dca809
Revises: 837caa85a6a9
Create Date: 2026-12-02 09:57:57.007170
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e28347dca809'
down_revision: str | None = '837caa85a6a9'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('author_name', sa.String(length=32), nullable=True))

    with op.batch_alter_table('room', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guests_allowed', sa.Boolean(), server_default=sa.text('(false)'), nullable=False))
    # guests by link are on for the rooms anyone may find or be linked to, off for private ones
    op.execute("UPDATE room SET guests_allowed = (visibility <> 'private')")

    with op.batch_alter_table('room_sanction', schema=None) as batch_op:
        batch_op.add_column(sa.Column('device_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('address', sa.String(length=45), nullable=True))

    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_guest', sa.Boolean(), server_default=sa.text('(false)'), nullable=False))
        batch_op.add_column(sa.Column('device_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('guest_address', sa.String(length=45), nullable=True))
        batch_op.alter_column('email',
               existing_type=sa.VARCHAR(length=254),
               nullable=True)
        batch_op.alter_column('password_hash',
               existing_type=sa.VARCHAR(length=255),
               nullable=True)
        batch_op.create_index(batch_op.f('ix_user_device_hash'), ['device_hash'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_device_hash'))
        batch_op.alter_column('password_hash',
               existing_type=sa.VARCHAR(length=255),
               nullable=False)
        batch_op.alter_column('email',
               existing_type=sa.VARCHAR(length=254),
               nullable=False)
        batch_op.drop_column('guest_address')
        batch_op.drop_column('device_hash')
        batch_op.drop_column('is_guest')

    with op.batch_alter_table('room_sanction', schema=None) as batch_op:
        batch_op.drop_column('address')
        batch_op.drop_column('device_hash')

    with op.batch_alter_table('room', schema=None) as batch_op:
        batch_op.drop_column('guests_allowed')

    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_column('author_name')

