//! Vetted's plugin repository: storage, background scans, email, web pages, the REST and XML-RPC
//! upload APIs and plugins.xml. Built on `vetted-scan`; filled in by the repository issue.
