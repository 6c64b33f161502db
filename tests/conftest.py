"""Test-wide settings. Under CI (CI=true) hypothesis runs derandomized, so a landing is reproducible;
local runs keep exploring new examples (and keep failures in .hypothesis/)."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
