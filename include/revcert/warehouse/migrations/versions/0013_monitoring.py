"""Monitoring that learns: every observation of a batch and its figures, and the incident ledger.

Revision ID: 0013
Revises: 0012

- `monitoring.observation`: each metric a run measured (before transform on
  its extraction batch, after transform on its figures), the history it was
  compared with (baseline, spread, score, how many earlier observations), the
  thresholds used and the severity that came out; a count or a ratio, never
  an amount.
- `monitoring.incident`: one per fingerprint (kind, pipeline, rule, subject)
  while it is not resolved; anomalies, failed certification checks and
  reconciliation discrepancies open or update one. A resolution may say the
  change was expected until a date: the same fingerprint is then recorded
  but neither holds nor pages until that date has passed.
- `monitoring.incident_run`: the runs an incident affected and what it did to
  each (held, warned, suppressed, failed, released...).
- The page's login reads incidents through two views in viz, like the
  reconciliation's.
"""
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        create table monitoring.incident (
            incident_id bigserial primary key,
            fingerprint text not null,
            kind text not null check (kind in ('anomaly', 'certification', 'reconciliation')),
            dag_id text not null,
            scope text not null,
            rule text not null,
            subject text not null,
            severity text not null check (severity in ('warning', 'hold', 'failure', 'discrepancy')),
            summary text not null,
            status text not null default 'open' check (status in ('open', 'acknowledged', 'resolved')),
            is_holding boolean not null default false,
            first_seen_at timestamptz not null default now(),
            last_seen_at timestamptz not null default now(),
            acknowledged_at timestamptz,
            acknowledged_by text,
            resolved_at timestamptz,
            resolved_by text,
            resolution_note text,
            expected_until date,
            check (status <> 'resolved' or (resolved_at is not null and resolution_note is not null)),
            check (not (is_holding and status = 'resolved'))
        )
    """)
    # One incident per fingerprint until it is resolved; a later occurrence opens a new one.
    op.execute("create unique index incident_unresolved on monitoring.incident (fingerprint) "
               "where status <> 'resolved'")
    op.execute("create index incident_fingerprint on monitoring.incident (fingerprint, resolved_at)")
    op.execute("""
        create table monitoring.incident_run (
            incident_id bigint not null references monitoring.incident,
            dag_id text not null,
            run_id text not null,
            certification_id bigint references certification.certification_run,
            outcome text not null
                check (outcome in ('held', 'warned', 'suppressed', 'failed', 'discrepancy', 'released')),
            seen_at timestamptz not null default now(),
            primary key (incident_id, dag_id, run_id)
        )
    """)
    op.execute("create index incident_run_certification on monitoring.incident_run (certification_id)")
    op.execute("""
        create table monitoring.observation (
            observation_id bigserial primary key,
            certification_id bigint not null references certification.certification_run,
            dag_id text not null,
            run_id text not null,
            extraction_batch_id bigint references raw.extraction_batch,
            batch_mode text,
            point text not null check (point in ('batch', 'figures')),
            metric text not null,
            subject text not null,
            observed_day date,
            value numeric not null,
            baseline numeric,
            spread numeric,
            score numeric,
            history_size integer not null,
            severity text not null check (severity in ('recorded', 'ok', 'warning', 'hold')),
            thresholds jsonb not null,
            detail jsonb not null default '{}',
            incident_id bigint references monitoring.incident,
            suppressed_by_incident_id bigint references monitoring.incident,
            suppression_note text,
            observed_at timestamptz not null default now()
        )
    """)
    op.execute("create index observation_history on monitoring.observation (dag_id, metric, subject, observed_at)")
    op.execute("create index observation_certification on monitoring.observation (certification_id, point)")
    op.execute("""
        create view viz.incident as
        select incident.incident_id, incident.kind, incident.dag_id, incident.scope, incident.rule,
               incident.subject, incident.severity, incident.summary, incident.status, incident.is_holding,
               incident.first_seen_at, incident.last_seen_at, incident.acknowledged_at, incident.acknowledged_by,
               incident.resolved_at, incident.resolved_by, incident.resolution_note, incident.expected_until,
               (select count(*) from monitoring.incident_run as runs
                where runs.incident_id = incident.incident_id) as runs_affected
        from monitoring.incident as incident
    """)
    op.execute("""
        create view viz.incident_run as
        select incident_id, dag_id, run_id, certification_id, outcome, seen_at
        from monitoring.incident_run
    """)
    op.execute("grant select on viz.incident, viz.incident_run to revcert_viz_reader")


def downgrade() -> None:
    op.execute("drop view viz.incident_run")
    op.execute("drop view viz.incident")
    op.execute("drop table monitoring.observation")
    op.execute("drop table monitoring.incident_run")
    op.execute("drop table monitoring.incident")
