// The `tessera` command line: everything is wired in TesseraApp.
return await Tessera.Cli.TesseraApp.RunAsync(args);
