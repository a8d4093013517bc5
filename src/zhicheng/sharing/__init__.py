"""数据共享申请与授权: consumer departments apply for catalog resources, the data authority checks
compliance, providers decide, and grants bind consumer × resource × items × purpose × period."""
