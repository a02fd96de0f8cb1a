from crossfield.cli import main

main()
