"""What every command module shares: the subparsers type and the handler signature."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeAlias

from deploy.settings import Settings

__all__ = ["Handler", "Subparsers"]

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Handler = Callable[[argparse.Namespace, Settings], int]
