"""The two roles people hold in production, kept in Airflow's FAB auth manager.

*Finance viewer* reads the Certified revenue page and its API, and nothing else
of Airflow. *Operator* runs the pipelines: reads DAGs, runs, tasks, logs,
import errors, assets, pools and jobs, triggers runs, creates backfills and
clears tasks (FAB ties pausing to the same permission). Neither sees
connections, variables or configuration (Admin does); both change their own
password. `revcert roles sync` makes each role's permissions
exactly these, however they were edited in the UI since.

Permissions are FAB's (action, resource) names; the FAB auth manager maps each
Airflow API call onto them (triggering a run or creating a backfill needs
`can_create` on DAG Runs and `can_edit` on DAGs; clearing tasks, `can_edit`
on DAG Runs and Task Instances). The page's routes require `can_read` on
Website; the UI's navigation lists plugins' views with `can_read` on Plugins.
"""
from __future__ import annotations

# Everyone changes their own password and reads the page.
OWN_ACCOUNT = [("can_read", "My Password"), ("can_edit", "My Password"), ("can_read", "My Profile"),
               ("can_edit", "My Profile")]
PAGE = [("can_read", "Website"), ("can_read", "Plugins")]
ROLE_PERMISSIONS: dict[str, list[tuple[str, str]]] = {
    "Finance viewer": [*OWN_ACCOUNT, *PAGE],
    "Operator": [
        *OWN_ACCOUNT,
        *PAGE,
        ("menu_access", "DAGs"),
        ("can_read", "DAGs"),
        ("can_read", "DAG Runs"),
        ("can_read", "Task Instances"),
        ("can_read", "Task Logs"),
        ("can_read", "XComs"),
        ("can_read", "DAG Code"),
        ("can_read", "DAG Versions"),
        ("can_read", "DAG Warnings"),
        ("can_read", "DAG Dependencies"),
        ("can_read", "HITL Detail"),
        ("can_read", "ImportError"),
        ("can_read", "Assets"),
        ("can_read", "Asset Aliases"),
        ("can_read", "Pools"),
        ("can_read", "Jobs"),
        ("can_create", "DAG Runs"),
        ("can_edit", "DAGs"),
        ("can_edit", "DAG Runs"),
        ("can_edit", "Task Instances"),
    ],
}


def sync_roles() -> dict[str, dict]:
    """Create each role if missing and make its permissions exactly the listed ones.

    A second call changes nothing. A name FAB does not know is refused rather than created (a typo
    would otherwise become a permission that guards nothing).

    Returns:
        Per role, the permissions added and removed.
    """
    from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder

    changes: dict[str, dict] = {}
    # Building the app syncs FAB's own roles, actions and resources first, so "Website" and the rest exist.
    with get_application_builder() as appbuilder:
        security = appbuilder.sm
        for action, resource in {pair for pairs in ROLE_PERMISSIONS.values() for pair in pairs}:
            if security.get_permission(action, resource) is None:
                raise ValueError(f"FAB knows no permission {action!r} on {resource!r}")
        for name, pairs in ROLE_PERMISSIONS.items():
            role = security.add_role(name)
            held = {(p.action.name, p.resource.name): p for p in role.permissions}
            added = sorted(set(pairs) - held.keys())
            removed = sorted(held.keys() - set(pairs))
            for action, resource in added:
                security.add_permission_to_role(role, security.get_permission(action, resource))
            for pair in removed:
                security.remove_permission_from_role(role, held[pair])
            changes[name] = {"added": added, "removed": removed}
    return changes
