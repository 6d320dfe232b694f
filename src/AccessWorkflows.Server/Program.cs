using AccessWorkflows.Server.Hosting;

var app = AccessWorkflowsServer.Build(args);
app.Run();

/// <summary>The entry point, public so tests can host the server in process.</summary>
public partial class Program;
