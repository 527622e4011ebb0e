"""the playlist: its items, votes, and the room's current item, version and rules (ADR 0015)

A room that plays a movie gets it as its first item, playing.

Revision ID: 7c1e0d5a9b21
Revises: b2da1853c490
Create Date: 2026-12-02 02:37:08.967627
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import watchparty.core.db

revision: str = '7c1e0d5a9b21'
down_revision: str | None = 'b2da1853c490'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('playlist_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=False),
    sa.Column('movie_id', sa.Integer(), nullable=False),
    sa.Column('added_by', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', watchparty.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by'], ['user.id'], name=op.f('fk_playlist_item_added_by_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['movie_id'], ['movie.id'], name=op.f('fk_playlist_item_movie_id_movie'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['room_id'], ['room.id'], name=op.f('fk_playlist_item_room_id_room'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_playlist_item'))
    )
    with op.batch_alter_table('playlist_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_playlist_item_added_by'), ['added_by'], unique=False)
        batch_op.create_index(batch_op.f('ix_playlist_item_movie_id'), ['movie_id'], unique=False)
        batch_op.create_index('ix_playlist_item_room_position', ['room_id', 'position'], unique=False)

    op.create_table('playlist_vote',
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', watchparty.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['playlist_item.id'], name=op.f('fk_playlist_vote_item_id_playlist_item'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_playlist_vote_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('item_id', 'user_id', name=op.f('pk_playlist_vote'))
    )
    with op.batch_alter_table('playlist_vote', schema=None) as batch_op:
        batch_op.create_index('ix_playlist_vote_user_id', ['user_id'], unique=False)

    with op.batch_alter_table('room', schema=None) as batch_op:
        batch_op.add_column(sa.Column('current_item_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('playlist_version', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('playlist_mode', sa.String(length=8), server_default=sa.text("'manual'"), nullable=False))
        batch_op.add_column(sa.Column('playlist_loop', sa.String(length=4), server_default=sa.text("'off'"), nullable=False))
        batch_op.add_column(sa.Column('members_add', sa.Boolean(), server_default=sa.text('(true)'), nullable=False))
        batch_op.add_column(sa.Column('skip_ratio', sa.Float(), server_default=sa.text('(0.5)'), nullable=False))
        batch_op.add_column(sa.Column('queue_cap', sa.Integer(), server_default=sa.text('(20)'), nullable=False))

    op.execute(
        "INSERT INTO playlist_item (room_id, movie_id, added_by, position, created_at) "
        "SELECT id, movie_id, host_id, 0, created_at FROM room WHERE movie_id IS NOT NULL"
    )
    op.execute(
        "UPDATE room SET current_item_id = "
        "(SELECT playlist_item.id FROM playlist_item WHERE playlist_item.room_id = room.id) "
        "WHERE movie_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table('room', schema=None) as batch_op:
        batch_op.drop_column('queue_cap')
        batch_op.drop_column('skip_ratio')
        batch_op.drop_column('members_add')
        batch_op.drop_column('playlist_loop')
        batch_op.drop_column('playlist_mode')
        batch_op.drop_column('playlist_version')
        batch_op.drop_column('current_item_id')

    with op.batch_alter_table('playlist_vote', schema=None) as batch_op:
        batch_op.drop_index('ix_playlist_vote_user_id')

    op.drop_table('playlist_vote')
    with op.batch_alter_table('playlist_item', schema=None) as batch_op:
        batch_op.drop_index('ix_playlist_item_room_position')
        batch_op.drop_index(batch_op.f('ix_playlist_item_movie_id'))
        batch_op.drop_index(batch_op.f('ix_playlist_item_added_by'))

    op.drop_table('playlist_item')
