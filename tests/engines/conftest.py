"""One local SparkSession for the whole test session (JVM start-up costs ~10 s). The sample's
records and its DuckDB model per domain come from tests/conftest.py."""

import pytest

# The JIT's first tier only: the tests' many small queries run too briefly to repay the C2
# compiler's CPU (measured: see the commit message). Results do not depend on the JIT.
JIT = "-XX:TieredStopAtLevel=1"


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    from resolver.engines.spark import spark_session

    # two shuffle partitions: a few thousand records do not need more, and each extra
    # partition is a task per stage
    session = spark_session(master="local[2]", driver_memory="2g", shuffle_partitions=2,
                            checkpoint_dir=tmp_path_factory.mktemp("spark"), java_options=JIT)
    yield session
    session.stop()
