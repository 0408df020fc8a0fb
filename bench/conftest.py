"""`make bench`'s pytest part borrows the test suite's personas and fixtures."""

from tests.conftest import *  # noqa: F403
