"""The container image every component runs in; `tunepipe compile` replaces it with cluster.image."""

import os

IMAGE = os.environ.get("TUNEPIPE_IMAGE", "ghcr.io/tunepipe/tunepipe:0.1.0")
