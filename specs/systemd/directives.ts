// systemd's directives, by the man page that defines them: the "UNIT DIRECTIVES" index of systemd.directives(7) of
// systemd 252 (Debian 12), split by page (and [Unit]/[Install]). The converter tells a directive systemd does not
// know (a typo, which systemd ignores with a warning) from one sysmaster does not support; docs/systemd.md has a
// row for each of them.
const pages = {
  // [Unit]: systemd.unit(5), less [Install]
  unit:
    'After AllowIsolate AssertACPower AssertArchitecture AssertCPUFeature AssertCPUPressure AssertCPUs ' +
    'AssertCapability AssertControlGroupController AssertCredential AssertDirectoryNotEmpty AssertEnvironment ' +
    'AssertFileIsExecutable AssertFileNotEmpty AssertFirstBoot AssertGroup AssertHost AssertIOPressure ' +
    'AssertKernelCommandLine AssertKernelVersion AssertMemory AssertMemoryPressure AssertNeedsUpdate AssertOSRelease ' +
    'AssertPathExists AssertPathExistsGlob AssertPathIsDirectory AssertPathIsEncrypted AssertPathIsMountPoint ' +
    'AssertPathIsReadWrite AssertPathIsSymbolicLink AssertSecurity AssertUser AssertVirtualization Before BindsTo ' +
    'CollectMode ConditionACPower ConditionArchitecture ConditionCPUFeature ConditionCPUPressure ConditionCPUs ' +
    'ConditionCapability ConditionControlGroupController ConditionCredential ConditionDirectoryNotEmpty ' +
    'ConditionEnvironment ConditionFileIsExecutable ConditionFileNotEmpty ConditionFirmware ConditionFirstBoot ' +
    'ConditionGroup ConditionHost ConditionIOPressure ConditionKernelCommandLine ConditionKernelVersion ' +
    'ConditionMemory ConditionMemoryPressure ConditionNeedsUpdate ConditionOSRelease ConditionPathExists ' +
    'ConditionPathExistsGlob ConditionPathIsDirectory ConditionPathIsEncrypted ConditionPathIsMountPoint ' +
    'ConditionPathIsReadWrite ConditionPathIsSymbolicLink ConditionSecurity ConditionUser ConditionVirtualization ' +
    'Conflicts DefaultDependencies Description Documentation FailureAction FailureActionExitStatus IgnoreOnIsolate ' +
    'JobRunningTimeoutSec JobTimeoutAction JobTimeoutRebootArgument JobTimeoutSec JoinsNamespaceOf OnFailure ' +
    'OnFailureJobMode OnSuccess OnSuccessJobMode PartOf PropagatesReloadTo PropagatesStopTo RebootArgument ' +
    'RefuseManualStart RefuseManualStop ReloadPropagatedFrom Requires RequiresMountsFor Requisite SourcePath ' +
    'StartLimitAction StartLimitBurst StartLimitIntervalSec StopPropagatedFrom StopWhenUnneeded SuccessAction ' +
    'SuccessActionExitStatus Upholds Wants',
  // [Install]: systemd.unit(5)
  install:
    'Alias WantedBy RequiredBy Also DefaultInstance',
  // [Service]: systemd.service(5)
  service:
    'BusName ExecCondition ExecReload ExecStart ExecStartPost ExecStartPre ExecStop ExecStopPost ExitType ' +
    'FileDescriptorStoreMax GuessMainPID NonBlocking NotifyAccess OOMPolicy PIDFile RemainAfterExit Restart ' +
    'RestartForceExitStatus RestartPreventExitStatus RestartSec RootDirectoryStartOnly RuntimeMaxSec ' +
    'RuntimeRandomizedExtraSec Sockets SuccessExitStatus TimeoutAbortSec TimeoutSec TimeoutStartFailureMode ' +
    'TimeoutStartSec TimeoutStopFailureMode TimeoutStopSec Type USBFunctionDescriptors USBFunctionStrings WatchdogSec',
  // systemd.exec(5): [Service], [Socket], [Mount], [Swap]
  exec:
    'AmbientCapabilities AppArmorProfile BindPaths BindReadOnlyPaths CPUAffinity CPUSchedulingPolicy ' +
    'CPUSchedulingPriority CPUSchedulingResetOnFork CacheDirectory CacheDirectoryMode CapabilityBoundingSet ' +
    'ConfigurationDirectory ConfigurationDirectoryMode CoredumpFilter DynamicUser Environment EnvironmentFile ' +
    'ExecPaths ExecSearchPath ExtensionDirectories ExtensionImages Group IOSchedulingClass IOSchedulingPriority ' +
    'IPCNamespacePath IgnoreSIGPIPE InaccessiblePaths KeyringMode LimitAS LimitCORE LimitCPU LimitDATA LimitFSIZE ' +
    'LimitLOCKS LimitMEMLOCK LimitMSGQUEUE LimitNICE LimitNOFILE LimitNPROC LimitRSS LimitRTPRIO LimitRTTIME ' +
    'LimitSIGPENDING LimitSTACK LoadCredential LoadCredentialEncrypted LockPersonality LogExtraFields LogLevelMax ' +
    'LogNamespace LogRateLimitBurst LogRateLimitIntervalSec LogsDirectory LogsDirectoryMode MemoryDenyWriteExecute ' +
    'MountAPIVFS MountFlags MountImages NUMAMask NUMAPolicy NetworkNamespacePath Nice NoExecPaths NoNewPrivileges ' +
    'OOMScoreAdjust PAMName PassEnvironment Personality PrivateDevices PrivateIPC PrivateMounts PrivateNetwork ' +
    'PrivateTmp PrivateUsers ProcSubset ProtectClock ProtectControlGroups ProtectHome ProtectHostname ' +
    'ProtectKernelLogs ProtectKernelModules ProtectKernelTunables ProtectProc ProtectSystem ReadOnlyPaths ' +
    'ReadWritePaths RemoveIPC RestrictAddressFamilies RestrictFileSystems RestrictNamespaces RestrictRealtime ' +
    'RestrictSUIDSGID RootDirectory RootHash RootHashSignature RootImage RootImageOptions RootVerity RuntimeDirectory ' +
    'RuntimeDirectoryMode RuntimeDirectoryPreserve SELinuxContext SecureBits SetCredential SetCredentialEncrypted ' +
    'SmackProcessLabel StandardError StandardInput StandardInputData StandardInputText StandardOutput StateDirectory ' +
    'StateDirectoryMode SupplementaryGroups SyslogFacility SyslogIdentifier SyslogLevel SyslogLevelPrefix ' +
    'SystemCallArchitectures SystemCallErrorNumber SystemCallFilter SystemCallLog TTYColumns TTYPath TTYReset TTYRows ' +
    'TTYVHangup TTYVTDisallocate TemporaryFileSystem TimeoutCleanSec TimerSlackNSec UMask UnsetEnvironment User ' +
    'UtmpIdentifier UtmpMode WorkingDirectory',
  // systemd.kill(5): the same sections
  kill:
    'FinalKillSignal KillMode KillSignal RestartKillSignal SendSIGHUP SendSIGKILL WatchdogSignal',
  // systemd.resource-control(5): the same sections and [Slice], [Scope]
  'resource-control':
    'AllowedCPUs AllowedMemoryNodes BPFProgram CPUAccounting CPUQuota CPUQuotaPeriodSec CPUWeight Delegate ' +
    'DeviceAllow DevicePolicy DisableControllers IOAccounting IODeviceLatencyTargetSec IODeviceWeight ' +
    'IOReadBandwidthMax IOReadIOPSMax IOWeight IOWriteBandwidthMax IOWriteIOPSMax IPAccounting IPAddressAllow ' +
    'IPAddressDeny IPEgressFilterPath IPIngressFilterPath ManagedOOMMemoryPressure ManagedOOMMemoryPressureLimit ' +
    'ManagedOOMPreference ManagedOOMSwap MemoryAccounting MemoryHigh MemoryLow MemoryMax MemoryMin MemorySwapMax ' +
    'RestrictNetworkInterfaces Slice SocketBindAllow SocketBindDeny StartupAllowedCPUs StartupAllowedMemoryNodes ' +
    'StartupCPUWeight StartupIOWeight TasksAccounting TasksMax',
  // [Socket]: systemd.socket(5)
  socket:
    'Accept Backlog BindIPv6Only BindToDevice Broadcast DeferAcceptSec DirectoryMode ExecStartPost ExecStartPre ' +
    'ExecStopPost ExecStopPre FileDescriptorName FlushPending FreeBind IPTOS IPTTL KeepAlive KeepAliveIntervalSec ' +
    'KeepAliveProbes KeepAliveTimeSec ListenDatagram ListenFIFO ListenMessageQueue ListenNetlink ' +
    'ListenSequentialPacket ListenSpecial ListenStream ListenUSBFunction Mark MaxConnections MaxConnectionsPerSource ' +
    'MessageQueueMaxMessages MessageQueueMessageSize NoDelay PassCredentials PassPacketInfo PassSecurity PipeSize ' +
    'Priority ReceiveBuffer RemoveOnStop ReusePort SELinuxContextFromNet SendBuffer Service SmackLabel SmackLabelIPIn ' +
    'SmackLabelIPOut SocketGroup SocketMode SocketProtocol SocketUser Symlinks TCPCongestion TimeoutSec Timestamping ' +
    'Transparent TriggerLimitBurst TriggerLimitIntervalSec Writable',
  // [Timer]: systemd.timer(5)
  timer:
    'AccuracySec FixedRandomDelay OnActiveSec OnBootSec OnCalendar OnClockChange OnStartupSec OnTimezoneChange ' +
    'OnUnitActiveSec OnUnitInactiveSec Persistent RandomizedDelaySec RemainAfterElapse Unit WakeSystem',
  // [Path]: systemd.path(5)
  path:
    'DirectoryMode DirectoryNotEmpty MakeDirectory PathChanged PathExists PathExistsGlob PathModified ' +
    'TriggerLimitBurst TriggerLimitIntervalSec Unit',
  // [Mount]: systemd.mount(5)
  mount:
    'DirectoryMode ForceUnmount LazyUnmount Options ReadWriteOnly SloppyOptions TimeoutSec Type What Where',};

const words = (s: string): string[] => s.split(' ');
const exec = [...words(pages.exec), ...words(pages.kill), ...words(pages['resource-control'])];

/** Every directive systemd 252 accepts in each section of the unit types converted here. */
export const directives: Record<string, readonly string[]> = {
  Unit: words(pages.unit),
  Install: words(pages.install),
  Service: [...words(pages.service), ...exec],
  Socket: [...words(pages.socket), ...exec],
  Timer: words(pages.timer),
  Path: words(pages.path),
  Mount: [...words(pages.mount), ...exec],
};

/** The directives of the execution environment, kill and resource-control pages (shared by several sections). */
export const execDirectives: readonly string[] = exec;
