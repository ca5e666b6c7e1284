; The Windows installer: a 64-bit NSIS installer that puts switchyard.exe in
; Program Files, adds a Start-menu entry and registers an uninstaller in
; "Apps & features". Built by scripts/build-windows with Debian's makensis:
;
;   makensis -DEXE=path/to/switchyard.exe -DVERSION=0.1.0 \
;            -DOUTFILE=path/to/switchyard-0.1.0-setup.exe packaging/windows/switchyard.nsi
;
; Silent install / uninstall: `switchyard-setup.exe /S [/D=C:\path]`,
; `uninstall.exe /S`. The uninstaller removes the program, its shortcuts and
; its launch-at-login entry; the user's Switchyard home (config, accounts,
; secrets file) is kept.

!ifndef EXE
  !error "pass -DEXE=path/to/switchyard.exe"
!endif
!ifndef VERSION
  !error "pass -DVERSION=x.y.z"
!endif
!ifndef OUTFILE
  !define OUTFILE "switchyard-${VERSION}-setup.exe"
!endif

!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\Switchyard"
; The value src/autostart.rs (through auto-launch) writes for launch at login.
!define RUN_KEY "Software\Microsoft\Windows\CurrentVersion\Run"

Unicode true
; 64-bit stub: runs on 64-bit Windows (and the 64-bit-only Wine of the tests).
Target amd64-unicode
SetCompressor /SOLID lzma

Name "Switchyard"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\Switchyard"
InstallDirRegKey HKLM "${UNINST_KEY}" "InstallLocation"
RequestExecutionLevel admin
Icon "..\..\icons\switchyard.ico"
UninstallIcon "..\..\icons\switchyard.ico"
VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "Switchyard"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileDescription" "Switchyard installer"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "LegalCopyright" "Switchyard developers (MIT)"

Page directory
Page instfiles
UninstPage uninstConfirm
UninstPage instfiles

Section "Switchyard"
  SetShellVarContext all
  SetRegView 64
  SetOutPath "$INSTDIR"
  File "/oname=switchyard.exe" "${EXE}"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  CreateDirectory "$SMPROGRAMS\Switchyard"
  CreateShortcut "$SMPROGRAMS\Switchyard\Switchyard.lnk" "$INSTDIR\switchyard.exe" "" "$INSTDIR\switchyard.exe" 0
  CreateShortcut "$SMPROGRAMS\Switchyard\Uninstall Switchyard.lnk" "$INSTDIR\uninstall.exe"

  WriteRegStr HKLM "${UNINST_KEY}" "DisplayName" "Switchyard"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINST_KEY}" "Publisher" "Switchyard developers"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayIcon" "$\"$INSTDIR\switchyard.exe$\""
  WriteRegStr HKLM "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINST_KEY}" "UninstallString" "$\"$INSTDIR\uninstall.exe$\""
  WriteRegStr HKLM "${UNINST_KEY}" "QuietUninstallString" "$\"$INSTDIR\uninstall.exe$\" /S"
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoRepair" 1
SectionEnd

Section "Uninstall"
  SetShellVarContext all
  SetRegView 64
  Delete "$INSTDIR\switchyard.exe"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  Delete "$SMPROGRAMS\Switchyard\Switchyard.lnk"
  Delete "$SMPROGRAMS\Switchyard\Uninstall Switchyard.lnk"
  RMDir "$SMPROGRAMS\Switchyard"
  ; Launch at login would point at the removed program.
  DeleteRegValue HKCU "${RUN_KEY}" "Switchyard"
  DeleteRegKey HKLM "${UNINST_KEY}"
SectionEnd
