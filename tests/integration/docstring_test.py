import doctest
import importlib
import math
import pkgutil

import keras
import numpy as np
import pytest

import kerpix

TENSORFLOW_PACKAGES = (
    "kerpix.data",
    "kerpix.training",
    "kerpix.export",
    "kerpix.cli",
)


def modules():
    for info in pkgutil.walk_packages(kerpix.__path__, "kerpix."):
        yield info.name


@pytest.mark.parametrize("name", sorted(modules()))
def test_docstring_examples_run(name):
    if name.startswith(TENSORFLOW_PACKAGES) and (
        keras.backend.backend() != "tensorflow"
    ):
        pytest.skip("TensorFlow-only module")
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    globs = {"kerpix": kerpix, "np": np, "math": math, "keras": keras}
    for test in finder.find(module, globs=globs):
        if test.examples:
            runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring examples failed"
