using AccessWorkflows.Aws.Install;
using AccessWorkflows.Server.Hosting;

// `aws-setup --account ...` prints the provisioner role's template and CLI commands instead of serving.
if (args.Length > 0 && args[0] == AwsSetupCommand.Verb)
{
    return AwsSetupCommand.Run(args, Console.Out);
}

var app = AccessWorkflowsServer.Build(args);
app.Run();
return 0;

/// <summary>The entry point, public so tests can host the server in process.</summary>
public partial class Program;
