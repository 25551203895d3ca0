import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Under pytest-xdist each worker prepares datasets in its own cache (two
# processes building one tensorflow-datasets folder at once would race).
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["KERPIX_CACHE_DIR"] = os.path.join(
        os.environ.get(
            "KERPIX_CACHE_DIR", os.path.expanduser("~/.cache/kerpix")
        ),
        "pytest-" + os.environ["PYTEST_XDIST_WORKER"],
    )

import keras  # noqa: E402
import pytest  # noqa: E402

SHARED_DATA = os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
)
# Tests that read the shared files find them under plain `pytest` too (the
# Makefile exports the same folder).
if os.path.isdir(SHARED_DATA):
    os.environ.setdefault("KERPIX_DATA_DIR", SHARED_DATA)


def pytest_addoption(parser):
    parser.addoption("--run_large", action="store_true", default=False)
    parser.addoption("--run_extra_large", action="store_true", default=False)


def pytest_configure(config):
    # The default suite samples through plain graphs: XLA's compilation of
    # each tiny sampling program is most of a sampling test's time (the
    # samplers' and registry tests: 169 s under XLA, 90 s as plain graphs).
    # The large suite (CI) keeps XLA, the samplers' default, and
    # `test_xla_and_plain_graph_sample_alike` compares the two on every
    # family in both. `KERPIX_SAMPLER_JIT_COMPILE=1 make test` runs XLA.
    if not config.getoption("--run_large"):
        os.environ.setdefault("KERPIX_SAMPLER_JIT_COMPILE", "0")


def pytest_collection_modifyitems(config, items):
    skips = {
        "large": config.getoption("--run_large"),
        "extra_large": config.getoption("--run_extra_large"),
    }
    for item in items:
        for marker, enabled in skips.items():
            if marker in item.keywords and not enabled:
                item.add_marker(
                    pytest.mark.skip(reason=f"needs --run_{marker}")
                )
        if "tensorflow_only" in item.keywords and (
            keras.backend.backend() != "tensorflow"
        ):
            item.add_marker(pytest.mark.skip(reason="TensorFlow backend only"))


@pytest.fixture
def shared_data_dir():
    if not os.path.isdir(SHARED_DATA):
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)
