"""tunepipe: raw domain data to a fine-tuned, evaluated, reviewed and served LLM.

Importing the package sets OMP_WAIT_POLICY=PASSIVE (unless set): on small shared CPU machines torch's
busy-waiting OpenMP threads otherwise slow training by orders of magnitude. It must happen before torch
is imported, and every entry point (CLI, KFP components, tests) imports tunepipe first.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
