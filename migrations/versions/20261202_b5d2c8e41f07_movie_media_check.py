"""movie: the media check's status and verdict (ADR 0017)

Revision ID: b5d2c8e41f07
Revises: 70021f4909a7
Create Date: 2026-12-02 14:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'b5d2c8e41f07'
down_revision: str | None = '70021f4909a7'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # movies from before the check are "checking": the cleanup job sends each a check (movies/service.py)
    with op.batch_alter_table('movie', schema=None) as batch_op:
        batch_op.add_column(sa.Column('check_status', sa.String(length=16), server_default=sa.text("'checking'"), nullable=False))
        batch_op.add_column(sa.Column('media_check', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('movie', schema=None) as batch_op:
        batch_op.drop_column('media_check')
        batch_op.drop_column('check_status')
