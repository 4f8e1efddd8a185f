from remixcheck.cli import main

main()
