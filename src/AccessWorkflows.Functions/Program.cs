using AccessWorkflows.Functions.Hosting;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);

// ASP.NET Core integration: HTTP functions take HttpRequest and return the shared handlers' IResult.
builder.ConfigureFunctionsWebApplication();
builder.Services.AddAccessWorkflowsFunctions(builder.Configuration, builder.Environment);

builder.Build().Run();
