"""`python -m tunepipe.cli`: the same CLI as the `tunepipe` script."""

from tunepipe.cli import main

main()
