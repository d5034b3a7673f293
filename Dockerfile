# The look-up API in a container: `docker compose up -d` (compose.yaml), or
#   docker build -t resolver . && docker run -p 8000:8000 -v resolver-store:/data resolver
# The master store lives on the /data volume; put one there first (docs/deploy.md).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The locked versions, hashes checked; this layer is rebuilt only when the lock changes.
# requirements.lock is the service's: no test, notebook or Spark packages.
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

# The project itself, editable so that the rule files are read from /app/matching_rules, and
# compiled now: /app belongs to root, the server cannot write there.
COPY pyproject.toml README.md ./
COPY resolver ./resolver
COPY api ./api
COPY fixtures ./fixtures
COPY matching_rules ./matching_rules
RUN pip install --no-deps -e . && python -m compileall -q resolver api fixtures

COPY deploy/resolver.toml /etc/resolver/resolver.toml

# Not root. A new named volume mounted on /data takes this folder's owner.
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home resolver \
    && mkdir -p /data && chown resolver:resolver /data
USER resolver
VOLUME ["/data"]
EXPOSE 8000

# /health answers once the models and indexes are loaded (a large store takes a while: start-period).
HEALTHCHECK --interval=10s --timeout=5s --start-period=300s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]

# Where the store is and where to listen are the container's, as flags; every other setting comes
# from the config file or a RESOLVER_<OPTION> variable (docs/deploy.md).
ENTRYPOINT ["resolver"]
CMD ["serve", "--config", "/etc/resolver/resolver.toml", "--host", "0.0.0.0", "--port", "8000", "--db", "/data/master.duckdb"]
