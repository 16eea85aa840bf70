"""Put this folder on sys.path so the tests can import ``badinput_helpers``."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
