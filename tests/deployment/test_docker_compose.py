"""docker-compose.yaml, checked statically (no Docker engine runs here): every service a
production Airflow needs, pinned images, health checks, volumes, and no secret in the file."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-worker-extraction",
                    "airflow-worker-warehouse", "airflow-triggerer")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


def test_every_production_service_is_there(compose):
    assert set(compose["services"]) == {*AIRFLOW_SERVICES, "airflow-init", "airflow-metadata", "warehouse", "redis"}


def test_images_are_pinned_and_airflow_is_built_from_requirements(compose):
    for name, service in compose["services"].items():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), name
    for name in (*AIRFLOW_SERVICES, "airflow-init"):
        assert compose["services"][name]["build"] == {"context": ".", "dockerfile": "Dockerfile"}
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "FROM apache/airflow:3.3.2-python3.11" in dockerfile
    assert "pip install --no-cache-dir -r /opt/revcert/requirements.txt -c /opt/revcert/constraints.txt" in dockerfile
    assert "apache-airflow==3.3.2" in (ROOT / "requirements.txt").read_text()
    # The image gets what the product runs with, not the test tools.
    image_pins = {line.split("==")[0].split("[")[0] for line in (ROOT / "requirements.txt").read_text().splitlines()
                  if "==" in line}
    assert not image_pins & {"pytest", "pytest-xdist", "pytest-timeout", "playwright", "hypothesis", "ruff", "sqlfluff"}
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text()


def test_the_build_context_leaves_out_local_state_and_secrets():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for path in (".env", ".venv", ".revcert", "node_modules", "**/__pycache__", "*.egg-info"):
        assert path in ignored, path


def test_the_image_installs_the_product_as_a_wheel_with_the_page_assets_built_by_npm():
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)(?: AS (\S+))?$", dockerfile, re.MULTILINE)
    assert [name for _image, name in stages] == ["page-assets", "wheel", ""]
    assert all(":" in image and not image.endswith(":latest") for image, _name in stages)
    assert "RUN npm ci --no-audit --no-fund" in dockerfile and "COPY package.json package-lock.json ./" in dockerfile
    assert ("COPY --from=page-assets /src/node_modules/echarts/dist/echarts.min.js "
            "include/revcert/ui/page/echarts.min.js") in dockerfile
    assert "RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist ." in dockerfile
    assert "RUN pip install --no-cache-dir --no-deps /opt/revcert/dist/revcert-*.whl" in dockerfile
    # Everything the wheel's package-dir names is copied before it is built.
    wheel_stage = dockerfile.split("AS wheel", 1)[1].split("RUN pip wheel", 1)[0]
    for folder in ("include", "sql", "dags", "plugins"):
        assert f"COPY {folder} {folder}" in wheel_stage, folder


def test_celery_executor_redis_examples_off_and_the_execution_api(compose):
    environment = compose["x-airflow-common"]["environment"]
    assert environment["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert environment["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
    assert environment["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false"
    assert environment["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert "airflow-metadata" in environment["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert environment["AIRFLOW__CORE__AUTH_MANAGER"].endswith("fab_auth_manager.FabAuthManager")
    assert environment["AIRFLOW__OPERATORS__DEFAULT_QUEUE"] == "warehouse"


def test_one_worker_service_per_celery_queue_and_two_warehouse_workers(compose):
    services = compose["services"]
    assert services["airflow-worker-extraction"]["command"].startswith("celery worker --queues extraction ")
    assert services["airflow-worker-warehouse"]["command"].startswith("celery worker --queues warehouse ")
    assert services["airflow-worker-warehouse"]["deploy"]["replicas"] == 2


def test_long_running_services_have_health_checks_and_wait_for_their_dependencies(compose):
    for name, service in compose["services"].items():
        if name == "airflow-init":
            assert service["restart"] == "no"
            continue
        assert service["healthcheck"]["test"], name
        assert service["restart"] == "always", name
    for name in AIRFLOW_SERVICES:
        depends = compose["services"][name]["depends_on"]
        assert depends["airflow-init"] == {"condition": "service_completed_successfully"}, name
        assert depends["warehouse"] == {"condition": "service_healthy"}, name
    init = " ".join(compose["services"]["airflow-init"]["command"])
    assert init.index("airflow db migrate") < init.index("revcert db migrate") < init.index("revcert roles sync")


def test_data_lives_in_named_volumes(compose):
    assert set(compose["volumes"]) == {"airflow-metadata-data", "warehouse-data", "airflow-logs"}
    assert compose["services"]["warehouse"]["volumes"] == ["warehouse-data:/var/lib/postgresql/data"]
    assert compose["services"]["airflow-metadata"]["volumes"] == ["airflow-metadata-data:/var/lib/postgresql/data"]
    # Time for the warehouse to shut down cleanly: killed, it would empty its unlogged mart.
    assert compose["services"]["warehouse"]["stop_grace_period"] == "2m"


def test_no_secret_is_written_in_the_file_only_read_from_the_env_file(compose):
    text = (ROOT / "docker-compose.yaml").read_text()
    for match in re.finditer(r"^\s*[A-Z_]*(PASSWORD|SECRET|FERNET)[A-Z_]*:\s*(.+)$", text, re.MULTILINE):
        assert match.group(2).startswith("${"), match.group(0)
    for url in re.findall(r"\w+://[^\s\"]+", text):
        assert "@" not in url or ":${" in url, url
    assert compose["x-airflow-common"]["env_file"] == [".env"]
    example = (ROOT / ".env.example").read_text()
    for name in ("AIRFLOW_DB_PASSWORD", "WAREHOUSE_DB_PASSWORD", "REDIS_PASSWORD", "AIRFLOW__CORE__FERNET_KEY",
                 "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY", "AIRFLOW__API__BASE_URL",
                 "REVCERT_VIZ_PASSWORD",
                 "AIRFLOW_CONN_REVCERT_WAREHOUSE", "AIRFLOW_CONN_REVCERT_VIZ", "AIRFLOW_CONN_SALESFORCE_DEFAULT",
                 "AIRFLOW_CONN_SHOPIFY_DEFAULT", "AIRFLOW_CONN_SLACK_ONCALL"):
        assert re.search(rf"^{name}=$", example, re.MULTILINE), name
    assert ".env" in (ROOT / ".gitignore").read_text().split()
