import VGPUCtlCommands

VGPUCtl.run()
