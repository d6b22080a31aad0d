# The production image: Airflow with this project's pinned lock, package, SQL, DAGs and plugin.
FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:root requirements.txt constraints.txt /opt/revcert/
RUN pip install --no-cache-dir -r /opt/revcert/requirements.txt -c /opt/revcert/constraints.txt

COPY --chown=airflow:root pyproject.toml /opt/revcert/
COPY --chown=airflow:root include /opt/revcert/include
RUN pip install --no-cache-dir --no-deps /opt/revcert

COPY --chown=airflow:root sql /opt/revcert/sql
COPY --chown=airflow:root dags /opt/airflow/dags
COPY --chown=airflow:root plugins /opt/airflow/plugins

ENV REVCERT_SQL_DIR=/opt/revcert/sql \
    REVCERT_HOME=/opt/airflow/revcert
