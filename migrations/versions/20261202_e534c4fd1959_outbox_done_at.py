"""outbox done_at: a sent row stays the job's durable copy until its job is done (issue 19, item 3)

Revision ID: e534c4fd1959
Revises: 70618de6d878
Create Date: 2026-12-02 20:04:05.920702
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import watchparty.core.db

revision: str = 'e534c4fd1959'
down_revision: str | None = '70618de6d878'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('done_at', watchparty.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_outbox_job_open', ['id'], unique=False, postgresql_where=sa.text('sent_at IS NOT NULL AND done_at IS NULL'), sqlite_where=sa.text('sent_at IS NOT NULL AND done_at IS NULL'))

    # rows sent before this revision: their jobs ran (or Redis has them); none is to be sent again
    op.execute("UPDATE outbox_job SET done_at = sent_at WHERE sent_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('outbox_job', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_job_open', postgresql_where=sa.text('sent_at IS NOT NULL AND done_at IS NULL'), sqlite_where=sa.text('sent_at IS NOT NULL AND done_at IS NULL'))
        batch_op.drop_column('done_at')

