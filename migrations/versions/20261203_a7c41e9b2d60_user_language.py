"""user language: the language of a person's emails, chosen in the web client (issue 17, item 7)

Revision ID: a7c41e9b2d60
Revises: e534c4fd1959
Create Date: 2026-12-03 06:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'a7c41e9b2d60'
down_revision: str | None = 'e534c4fd1959'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), server_default='en', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('language')
