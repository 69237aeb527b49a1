using LocallyMasked.Cli;

// The program only parses arguments and calls the library; each command lives in its own file.
return CliApp.Run(args);
