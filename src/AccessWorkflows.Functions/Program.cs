using AccessWorkflows.Functions.Hosting;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);

// ASP.NET Core integration: HTTP functions take HttpRequest and return the shared handlers' IResult.
builder.ConfigureFunctionsWebApplication();

// After the ASP.NET Core integration's own middleware: every HTTP answer of ours, error or not, as the server gives it.
builder.UseMiddleware<ProblemResponsesMiddleware>();
builder.Services.AddAccessWorkflowsFunctions(builder.Configuration, builder.Environment);

builder.Build().Run();
