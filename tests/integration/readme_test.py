"""The README's Python blocks run, in order, as a reader would paste them
(one namespace; the data path pointed at the shared data)."""

import os
import re
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.tensorflow_only, pytest.mark.large]

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def readme_blocks():
    with open(os.path.join(ROOT, "README.md")) as f:
        return re.findall(r"^```python\n(.*?)^```", f.read(), re.M | re.S)


def test_readme_has_the_python_blocks():
    blocks = readme_blocks()
    assert len(blocks) >= 6
    assert "kerpix.models.PixelCNN" in blocks[0]


def test_readme_python_blocks_run(shared_data_dir, tmp_path):
    code = "\n".join(readme_blocks()).replace("../shared/data", shared_data_dir)
    script = tmp_path / "readme.py"
    script.write_text(code + "\nprint('README blocks done')\n")
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=1500,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "README blocks done" in result.stdout
    assert (tmp_path / "pixelcnn.keras").is_file()
