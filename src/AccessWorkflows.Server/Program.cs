using AccessWorkflows.Aws.Install;
using AccessWorkflows.Server.Hosting;

// `aws-setup --account ...` prints the provisioner role's template and CLI commands instead of serving.
if (args.Length > 0 && args[0] == AwsSetupCommand.Verb)
{
    return AwsSetupCommand.Run(args, Console.Out);
}

try
{
    var app = AccessWorkflowsServer.Build(args);
    app.Run();
    return 0;
}
catch (Exception e) when (StartupFailure.Describe(e) is { } line && System.Reflection.Assembly.GetEntryAssembly() == typeof(Program).Assembly)
{
    // A broken rules file, a missing file, a port in use, a locked data directory: one line, exit 1. (When another
    // program runs this entry point, the in-process test host, the exception is its to see.)
    Console.Error.WriteLine(line);
    return 1;
}

/// <summary>The entry point, public so tests can host the server in process.</summary>
public partial class Program;
