using System.CommandLine;
using LocallyMasked.Cli;

// The program only parses arguments and calls the library; each command lives in its own file.
var common = new CommonOptions();
var root = new RootCommand("Locally masked PixelCNN: train, evaluate, sample, complete, and draw orders.")
{
    TrainCommand.Create(common),
    EvaluateCommand.Create(common),
    SampleCommand.Create(common),
    CompleteCommand.Create(common),
    OrdersCommand.Create(),
};
return root.Parse(args).Invoke();
