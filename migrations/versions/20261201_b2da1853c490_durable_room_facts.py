"""durable room facts: open control and the last commanded playback (ADR 0014)

Revision ID: b2da1853c490
Revises: 46055845aa73
Create Date: 2026-12-01 22:00:11.419257
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import watchparty.core.db

revision: str = 'b2da1853c490'
down_revision: str | None = '46055845aa73'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('room', schema=None) as batch_op:
        batch_op.add_column(sa.Column('open_control', sa.Boolean(), server_default=sa.text('(false)'), nullable=False))
        batch_op.add_column(sa.Column('playback_position', sa.Float(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('playback_rate', sa.Float(), server_default=sa.text('1'), nullable=False))
        batch_op.add_column(sa.Column('playback_paused', sa.Boolean(), server_default=sa.text('(true)'), nullable=False))
        batch_op.add_column(sa.Column('playback_anchor', watchparty.core.db.UTCDateTime(timezone=True), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('room', schema=None) as batch_op:
        batch_op.drop_column('playback_anchor')
        batch_op.drop_column('playback_paused')
        batch_op.drop_column('playback_rate')
        batch_op.drop_column('playback_position')
        batch_op.drop_column('open_control')

