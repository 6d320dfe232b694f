using System.Reflection;
using AccessWorkflows.Functions.Functions;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;

namespace AccessWorkflows.Functions.Tests;

/// <summary>
/// Finds the app's orchestrator and activity functions by their attributes, as the worker's function index does, and
/// registers them with the durable worker under their <c>[Function]</c> names. Parameters are bound as the Functions
/// worker binds them: the trigger's input (the <c>[ActivityTrigger]</c> parameter; for an orchestrator, its first
/// parameter without a binding), the invocation's <see cref="CancellationToken"/>; an instance method's class is
/// created from the app's services for each call, as <c>DefaultFunctionActivator</c> does. A parameter the worker
/// could bind but these tests cannot (a <c>FunctionContext</c>) fails the registration, rather than being guessed.
/// </summary>
public static class FunctionIndex
{
    public static Assembly App => typeof(WorkflowFunctions).Assembly;

    public static IEnumerable<(string Name, MethodInfo Method)> Functions() =>
        from type in App.GetTypes()
        from method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly)
        let function = method.GetCustomAttribute<FunctionAttribute>()
        where function is not null
        select (function.Name, method);

    public static void Register(DurableTaskRegistry registry, IServiceProvider services)
    {
        foreach (var (name, method) in Functions())
        {
            var parameters = method.GetParameters();
            if (parameters.Any(p => p.GetCustomAttribute<OrchestrationTriggerAttribute>() is not null))
            {
                registry.AddOrchestrator(name, new Orchestrator(method, services));
            }
            else if (parameters.SingleOrDefault(p => p.GetCustomAttribute<ActivityTriggerAttribute>() is not null) is { } trigger)
            {
                registry.AddActivity(name, new Activity(method, trigger, services));
            }
        }
    }

    private static Type ResultType(MethodInfo method) =>
        method.ReturnType.IsGenericType && method.ReturnType.GetGenericTypeDefinition() == typeof(Task<>)
            ? method.ReturnType.GetGenericArguments()[0]
            : typeof(object);

    private static async Task<object?> InvokeAsync(MethodInfo method, IServiceProvider services, object?[] arguments)
    {
        var target = method.IsStatic ? null : ActivatorUtilities.CreateInstance(services, method.DeclaringType!);
        object? returned;
        try
        {
            returned = method.Invoke(target, arguments);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex.InnerException).Throw();
            throw;
        }

        if (returned is not Task task)
        {
            return returned;
        }

        await task;
        return task.GetType().IsGenericType ? task.GetType().GetProperty(nameof(Task<object>.Result))!.GetValue(task) : null;
    }

    private static object? Bind(ParameterInfo parameter, object? input, ParameterInfo inputParameter, CancellationToken cancellationToken) =>
        parameter == inputParameter ? input
        : parameter.ParameterType == typeof(CancellationToken) ? cancellationToken
        : throw new NotSupportedException($"{parameter.Member.Name}: the fidelity tests do not bind a {parameter.ParameterType.Name} parameter.");

    private sealed class Orchestrator(MethodInfo method, IServiceProvider services) : ITaskOrchestrator
    {
        private readonly ParameterInfo _input = method.GetParameters().First(p =>
            p.GetCustomAttribute<OrchestrationTriggerAttribute>() is null && p.ParameterType != typeof(CancellationToken) && p.ParameterType != typeof(FunctionContext));

        public Type InputType => _input.ParameterType;

        public Type OutputType => ResultType(method);

        public Task<object?> RunAsync(TaskOrchestrationContext context, object? input) =>
            InvokeAsync(method, services, [.. method.GetParameters().Select(p =>
                p.GetCustomAttribute<OrchestrationTriggerAttribute>() is not null ? context : Bind(p, input, _input, CancellationToken.None))]);
    }

    private sealed class Activity(MethodInfo method, ParameterInfo trigger, IServiceProvider services) : ITaskActivity
    {
        public Type InputType => trigger.ParameterType;

        public Type OutputType => ResultType(method);

        public Task<object?> RunAsync(TaskActivityContext context, object? input) =>
            InvokeAsync(method, services, [.. method.GetParameters().Select(p => Bind(p, input, trigger, CancellationToken.None))]);
    }
}
