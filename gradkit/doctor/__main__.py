"""``python -m gradkit.doctor train.py [args]``: run a training script with the doctor watching (see ``script.py``)."""
import sys

from .script import main

sys.exit(main())
