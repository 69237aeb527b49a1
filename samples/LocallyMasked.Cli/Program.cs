using System.CommandLine;
using LocallyMasked.Cli;

// The program only parses arguments and calls the library; each command lives in its own file.
var root = new RootCommand("Locally masked PixelCNN: train, evaluate, sample, complete, and draw orders.")
{
    OrdersCommand.Create(),
};
return root.Parse(args).Invoke();
