// `tessera-bench`: every bench is wired in BenchApp.
return await Tessera.Bench.BenchApp.RunAsync(args);
