"""Every activation on arrays sharded over 8 CPU devices, in a subprocess (XLA_FLAGS is read
once per process, before JAX starts)."""

import os
import pathlib
import subprocess
import sys


def test_sharded_values_gradients_and_data_parallel_step_match_one_device():
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=8",
        "JAX_PLATFORMS": "cpu",
    }
    script = pathlib.Path(__file__).with_name("sharded_check.py")
    result = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "agree" in result.stdout
