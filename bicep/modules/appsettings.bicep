@description('Name of the Function App whose settings these are.')
param functionAppName string

@description('The app settings, name to value (the complete set: anything not listed is removed).')
param settings object

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: settings
}
