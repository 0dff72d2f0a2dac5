/* Stand-in for the declarations of STSELib's platform header, written for vsafe's tests (no STSELib code): the
 * types, return codes and platform-function prototypes that the platform layer
 * (contrib/stselib) implements, declared as STSELib v1.1.x documents them. Compiling the layer
 * against this header checks that every definition matches its documented prototype; a real
 * firmware build uses STSELib's own header instead (contrib/stselib/README.md).
 * Only what the layer and the test driver use is declared. */
#ifndef VSAFE_TEST_STSE_PLATFORM_H
#define VSAFE_TEST_STSE_PLATFORM_H

#include <stdint.h>

/* The firmware's platform types (stse_platform_generic.h in an STSELib project). */
typedef uint8_t PLAT_UI8;
typedef uint16_t PLAT_UI16;
typedef uint32_t PLAT_UI32;
typedef int8_t PLAT_I8;

/* Return codes: 0 is success; the platform errors are numbered from 0x0101 in this order. */
typedef enum {
    STSE_OK = 0x00,
    STSE_PLATFORM_SERVICES_INIT_ERROR = 0x0101,
    STSE_PLATFORM_CRYPTO_INIT_ERROR,
    STSE_PLATFORM_INVALID_PARAMETER,
    STSE_PLATFORM_BUS_ERR,
    STSE_PLATFORM_BUFFER_ERR,
    STSE_PLATFORM_BUS_ARBITRATION_LOST,
    STSE_PLATFORM_BUS_RECEIVE_TIMEOUT,
    STSE_PLATFORM_BUS_ACK_ERROR,
    STSE_PLATFORM_FLASH_WRITE_ERROR,
    STSE_PLATFORM_POWER_ERROR
} stse_ReturnCode_t;

/* Initialisation (called by stse_init). */
stse_ReturnCode_t stse_platform_delay_init(void);
stse_ReturnCode_t stse_platform_power_init(void);
stse_ReturnCode_t stse_platform_crc16_init(void);
stse_ReturnCode_t stse_platform_crypto_init(void);
stse_ReturnCode_t stse_platform_generate_random_init(void);

/* Services. */
PLAT_UI32 stse_platform_generate_random(void);
PLAT_UI16 stse_platform_Crc16_Calculate(PLAT_UI8 *pbuffer, PLAT_UI16 length);
PLAT_UI16 stse_platform_Crc16_Accumulate(PLAT_UI8 *pbuffer, PLAT_UI16 length);
void stse_platform_Delay_ms(PLAT_UI16 delay_val);

/* Power lines. */
stse_ReturnCode_t stse_platform_power_ctrl_init(void);
stse_ReturnCode_t stse_platform_power_on(PLAT_UI8 busID, PLAT_UI8 devAddr);
stse_ReturnCode_t stse_platform_power_off(PLAT_UI8 busID, PLAT_UI8 devAddr);

/* I2C: a frame is sent as start (total length), continue (each piece), stop (last piece); a
 * response is received as start (length to read), continue (each piece), stop (last piece). */
stse_ReturnCode_t stse_platform_i2c_init(PLAT_UI8 busID);
stse_ReturnCode_t stse_platform_i2c_wake(PLAT_UI8 busID, PLAT_UI8 devAddr, PLAT_UI16 speed);
stse_ReturnCode_t stse_platform_i2c_send_start(PLAT_UI8 busID, PLAT_UI8 devAddr, PLAT_UI16 speed,
                                               PLAT_UI16 FrameLength);
stse_ReturnCode_t stse_platform_i2c_send_continue(PLAT_UI8 busID, PLAT_UI8 devAddr, PLAT_UI16 speed,
                                                  PLAT_UI8 *pElement, PLAT_UI16 element_size);
stse_ReturnCode_t stse_platform_i2c_send_stop(PLAT_UI8 busID, PLAT_UI8 devAddr, PLAT_UI16 speed,
                                              PLAT_UI8 *pElement, PLAT_UI16 element_size);
stse_ReturnCode_t stse_platform_i2c_receive_start(PLAT_UI8 busID, PLAT_UI8 devAddr, PLAT_UI16 speed,
                                                  PLAT_UI16 frame_Length);
stse_ReturnCode_t stse_platform_i2c_receive_continue(PLAT_UI8 busID, PLAT_UI8 devAddr, PLAT_UI16 speed,
                                                     PLAT_UI8 *pElement, PLAT_UI16 element_size);
stse_ReturnCode_t stse_platform_i2c_receive_stop(PLAT_UI8 busID, PLAT_UI8 devAddr, PLAT_UI16 speed,
                                                 PLAT_UI8 *pElement, PLAT_UI16 element_size);

#endif
