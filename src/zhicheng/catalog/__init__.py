"""政务信息资源目录: every department's data resources in one catalog, versioned, searchable."""
