namespace AccessWorkflows.Cli;

/// <summary>The <c>aw</c> entry point (a named class, so hosts that embed the CLI see no second <c>Program</c>).</summary>
internal static class AwProgram
{
    public static Task<int> Main(string[] args) =>
        CliApp.RunAsync(args, new HttpClientHandler(), Console.Out, Console.Error, Environment.GetEnvironmentVariable);
}
