"""one jobs table for long work: assignment runs and rankings keep their options and results,
their state and progress move to their job

Revision ID: 0010_jobs
Revises: 0009_workflow
Create Date: 2026-12-05 11:00:00

Each run and each ranking gets a job holding what was its state, progress, message and times
(a job that ended has an end time: the creation time where none was kept). One active job per
kind and subject replaces the two "one active per stage" indexes.
"""
from alembic import op
import sqlalchemy as sa

import competition.db  # noqa: F401  (column types of the models)

# revision identifiers, used by Alembic.
revision = '0010_jobs'
down_revision = '0009_workflow'
branch_labels = None
depends_on = None

UTC = competition.db.UTCDateTime(timezone=True)
ACTIVE = ('queued', 'running')
jobs = sa.table(
    'jobs',
    sa.column('id', sa.Integer), sa.column('kind', sa.String), sa.column('subject', sa.String),
    sa.column('state', sa.String), sa.column('progress', sa.Integer),
    sa.column('message', sa.Text), sa.column('error', sa.Text), sa.column('attempts', sa.Integer),
    sa.column('started_by_id', sa.Integer), sa.column('created_at', UTC),
    sa.column('started_at', UTC), sa.column('heartbeat_at', UTC), sa.column('finished_at', UTC),
)
runs = sa.table(
    'assignment_runs',
    sa.column('id', sa.Integer), sa.column('stage_id', sa.Integer), sa.column('job_id', sa.Integer),
    sa.column('state', sa.String), sa.column('progress', sa.Integer), sa.column('message', sa.Text),
    sa.column('started_by_id', sa.Integer), sa.column('created_at', UTC),
    sa.column('started_at', UTC), sa.column('finished_at', UTC),
)
rankings = sa.table(
    'rankings',
    sa.column('id', sa.Integer), sa.column('stage_id', sa.Integer), sa.column('job_id', sa.Integer),
    sa.column('state', sa.String), sa.column('message', sa.Text),
    sa.column('created_by_id', sa.Integer), sa.column('created_at', UTC),
    sa.column('finished_at', UTC),
)
STATE = sa.Enum('queued', 'running', 'done', 'failed', name='run_state', native_enum=False, create_constraint=True, length=7)
SNAPSHOT = sa.Enum('queued', 'running', 'done', 'failed', name='snapshot_state', native_enum=False, create_constraint=True, length=7)


def upgrade():
    op.create_table('jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=60), nullable=False),
    sa.Column('state', sa.Enum('queued', 'running', 'done', 'failed', name='job_state', native_enum=False, create_constraint=True, length=7), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('started_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('started_at', UTC, nullable=True),
    sa.Column('heartbeat_at', UTC, nullable=True),
    sa.Column('finished_at', UTC, nullable=True),
    sa.CheckConstraint("state IN ('queued', 'running') OR finished_at IS NOT NULL", name=op.f('ck_jobs_ended_has_time')),
    sa.CheckConstraint('progress >= 0 AND progress <= 100', name=op.f('ck_jobs_progress_is_a_percentage')),
    sa.ForeignKeyConstraint(['started_by_id'], ['users.id'], name=op.f('fk_jobs_started_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs'))
    )
    op.create_index('uq_jobs_active_subject', 'jobs', ['kind', 'subject'], unique=True, sqlite_where=sa.text("state IN ('queued', 'running')"), postgresql_where=sa.text("state IN ('queued', 'running')"))

    with op.batch_alter_table('assignment_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('job_id', sa.Integer(), nullable=True))
    with op.batch_alter_table('rankings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('job_id', sa.Integer(), nullable=True))

    conn = op.get_bind()
    for run in conn.execute(sa.select(runs).order_by(runs.c.id)).mappings().all():
        ended = run['state'] not in ACTIVE
        job_id = conn.execute(sa.insert(jobs).values(
            kind='assignment.run', subject=f"stage:{run['stage_id']}", state=run['state'],
            progress=run['progress'], message=run['message'] or '', error='',
            attempts=1 if run['started_at'] else 0, started_by_id=run['started_by_id'],
            created_at=run['created_at'], started_at=run['started_at'],
            heartbeat_at=run['started_at'],
            finished_at=(run['finished_at'] or run['created_at']) if ended else None,
        ).returning(jobs.c.id)).scalar_one()
        conn.execute(sa.update(runs).where(runs.c.id == run['id']).values(job_id=job_id))
    for ranking in conn.execute(sa.select(rankings).order_by(rankings.c.id)).mappings().all():
        ended = ranking['state'] not in ACTIVE
        job_id = conn.execute(sa.insert(jobs).values(
            kind='selection.rank', subject=f"stage:{ranking['stage_id']}",
            state=ranking['state'], progress=100 if ranking['state'] == 'done' else 0,
            message=ranking['message'] or '', error='', attempts=1 if ended else 0,
            started_by_id=ranking['created_by_id'], created_at=ranking['created_at'],
            started_at=None, heartbeat_at=None,
            finished_at=(ranking['finished_at'] or ranking['created_at']) if ended else None,
        ).returning(jobs.c.id)).scalar_one()
        conn.execute(sa.update(rankings).where(rankings.c.id == ranking['id']).values(job_id=job_id))

    with op.batch_alter_table('assignment_runs', schema=None) as batch_op:
        batch_op.drop_index('uq_assignment_runs_active_stage')
        batch_op.drop_constraint(op.f('ck_assignment_runs_progress_is_a_percentage'), type_='check')
        batch_op.drop_constraint(op.f('ck_assignment_runs_run_state'), type_='check')
        batch_op.alter_column('job_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_assignment_runs_job_id'), ['job_id'])
        batch_op.create_foreign_key(batch_op.f('fk_assignment_runs_job_id_jobs'), 'jobs', ['job_id'], ['id'])
        batch_op.drop_column('state')
        batch_op.drop_column('message')
        batch_op.drop_column('progress')
        batch_op.drop_column('finished_at')
        batch_op.drop_column('started_at')

    with op.batch_alter_table('rankings', schema=None) as batch_op:
        batch_op.drop_index('uq_rankings_active_stage')
        batch_op.drop_constraint(op.f('ck_rankings_done_has_inputs_hash'), type_='check')
        batch_op.drop_constraint(op.f('ck_rankings_snapshot_state'), type_='check')
        batch_op.alter_column('job_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_rankings_job_id'), ['job_id'])
        batch_op.create_foreign_key(batch_op.f('fk_rankings_job_id_jobs'), 'jobs', ['job_id'], ['id'])
        batch_op.drop_column('state')
        batch_op.drop_column('finished_at')
        batch_op.drop_column('message')


def downgrade():
    with op.batch_alter_table('rankings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('finished_at', UTC, nullable=True))
        batch_op.add_column(sa.Column('state', sa.String(length=7), nullable=True))
    with op.batch_alter_table('assignment_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('started_at', UTC, nullable=True))
        batch_op.add_column(sa.Column('finished_at', UTC, nullable=True))
        batch_op.add_column(sa.Column('progress', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('message', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('state', sa.String(length=7), nullable=True))

    conn = op.get_bind()
    for job in conn.execute(sa.select(jobs)).mappings().all():
        if job['kind'] == 'assignment.run':
            conn.execute(sa.update(runs).where(runs.c.job_id == job['id']).values(
                state=job['state'], progress=job['progress'], message=job['message'],
                started_at=job['started_at'], finished_at=job['finished_at']))
        elif job['kind'] == 'selection.rank':
            conn.execute(sa.update(rankings).where(rankings.c.job_id == job['id']).values(
                state=job['state'], message=job['message'], finished_at=job['finished_at']))

    with op.batch_alter_table('rankings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_rankings_job_id_jobs'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_rankings_job_id'), type_='unique')
        batch_op.drop_column('job_id')
        batch_op.alter_column('message', existing_type=sa.Text(), nullable=False)
        batch_op.alter_column('state', existing_type=sa.String(length=7), type_=SNAPSHOT, nullable=False)
        batch_op.create_check_constraint('done_has_inputs_hash', "state != 'done' OR inputs_hash IS NOT NULL")
        batch_op.create_index('uq_rankings_active_stage', ['stage_id'], unique=True, sqlite_where=sa.text("state IN ('queued', 'running')"), postgresql_where=sa.text("state IN ('queued', 'running')"))

    with op.batch_alter_table('assignment_runs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_assignment_runs_job_id_jobs'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_assignment_runs_job_id'), type_='unique')
        batch_op.drop_column('job_id')
        batch_op.alter_column('message', existing_type=sa.Text(), nullable=False)
        batch_op.alter_column('progress', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('state', existing_type=sa.String(length=7), type_=STATE, nullable=False)
        batch_op.create_check_constraint('progress_is_a_percentage', 'progress >= 0 AND progress <= 100')
        batch_op.create_index('uq_assignment_runs_active_stage', ['stage_id'], unique=True, sqlite_where=sa.text("state IN ('queued', 'running')"), postgresql_where=sa.text("state IN ('queued', 'running')"))

    op.drop_index('uq_jobs_active_subject', table_name='jobs')
    op.drop_table('jobs')
