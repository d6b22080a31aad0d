# The production image: Airflow with this project's pinned lock and the product installed as a wheel.
# docker-compose.yaml builds it; tests/deployment/test_docker_compose.py checks it statically.

# The page's chart library, from the npm registry at the locked version (never a CDN).
FROM node:20.19.5-bookworm-slim AS page-assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# The product as a wheel: SQL, reviewed overrides, migrations, DAGs, plugin and the page's assets
# (ECharts included) are package data, read with importlib.resources wherever the wheel is installed.
FROM python:3.11.14-slim-bookworm AS wheel
WORKDIR /src
COPY pyproject.toml ./
COPY include include
COPY sql sql
COPY dags dags
COPY plugins plugins
COPY --from=page-assets /src/node_modules/echarts/dist/echarts.min.js include/revcert/ui/page/echarts.min.js
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /dist .

FROM apache/airflow:3.3.2-python3.11
COPY --chown=airflow:root requirements.txt constraints.txt /opt/revcert/
RUN pip install --no-cache-dir -r /opt/revcert/requirements.txt -c /opt/revcert/constraints.txt
COPY --from=wheel /dist/ /opt/revcert/dist/
RUN pip install --no-cache-dir --no-deps /opt/revcert/dist/revcert-*.whl
# The DAG files and the plugin where Airflow's processes look for them.
COPY --chown=airflow:root dags /opt/airflow/dags
COPY --chown=airflow:root plugins /opt/airflow/plugins
