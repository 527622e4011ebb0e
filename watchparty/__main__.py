from watchparty.cli import main

main()
