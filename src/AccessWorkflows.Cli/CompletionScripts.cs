namespace AccessWorkflows.Cli;

/// <summary>
/// Shell glue for tab completion. Each script hands the line being typed back to <c>aw</c> through System.CommandLine's
/// <c>[suggest:position]</c> directive, so completions (commands, options, statuses, durations) always match the
/// installed version without a script per release.
/// </summary>
internal static class CompletionScripts
{
    public static string For(string shell) => shell switch
    {
        "bash" => """
            # aw tab completion for bash: source <(aw completion bash)
            _aw_complete() {
              local IFS=$'\n'
              COMPREPLY=( $(aw "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null) )
            }
            complete -o default -F _aw_complete aw

            """,
        "zsh" => """
            # aw tab completion for zsh: source <(aw completion zsh)
            _aw_complete() {
              local -a completions
              completions=("${(@f)$(aw "[suggest:${#BUFFER}]" "${BUFFER}" 2>/dev/null)}")
              compadd -a completions
            }
            compdef _aw_complete aw

            """,
        _ => """
            # aw tab completion for PowerShell: aw completion pwsh | Out-String | Invoke-Expression
            Register-ArgumentCompleter -Native -CommandName aw -ScriptBlock {
              param($wordToComplete, $commandAst, $cursorPosition)
              aw "[suggest:$cursorPosition]" "$commandAst" | ForEach-Object {
                [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
              }
            }

            """,
    };
}
